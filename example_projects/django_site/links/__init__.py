"""The link board app: walrus models, cached pages, rate-limited endpoints, a locked task."""
