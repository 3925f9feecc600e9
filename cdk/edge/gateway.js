// lakegate's edge gateway: a CloudFront Function (cloudfront-js-2.0, viewer request).
// Placeholder until the gateway lands: passes every request through unchanged.
import cf from 'cloudfront';

const RULES = {}; // generated: local/edge_function.py inlines the rules here

async function handler(event) {
    return event.request;
}
