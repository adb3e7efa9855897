"""The web domain: the built web client (``web/dist``) served at ``/``, as a single-page app."""
