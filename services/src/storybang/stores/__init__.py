"""The one place that talks to each store: SQL (users), documents, blobs (images), rate limits."""
