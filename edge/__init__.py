"""The edge function CloudFront runs on every data request, and what generates it.

    gateway.js     the function (cloudfront-js-2.0, viewer request): a fixed rule interpreter
    rules.py       the catalogue's rules, as the function reads them
    store.py       their layout in the KeyValueStore, under a tag
    function.py    gateway.js with its tag, for CloudFront, njs (the local edge) and Node
    js_compact.py  comments and indentation out, under CloudFront's code quota

The CDK app deploys it and the local edge runs it: both import it, so it belongs to
neither, and it imports nothing of lakegate but the catalogue.
"""
