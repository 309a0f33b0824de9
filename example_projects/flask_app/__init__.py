"""The Flask example of the walrus suite (``create_app`` in ``app.py``)."""
