"""CDK app for lakegate: the edge security, API and edge monitoring stacks."""
