"""Example projects of the walrus suite (a Django site and a Flask app)."""
