"""The notifier: Socket.IO on ``/socket.io`` that delivers each user's events to their clients.

It checks the access token and the Origin at connect, joins the socket to ``user:<id>``, replays
what the client missed from the user's event log, then delivers live events fanned out through
Redis. It talks to Redis only: never to the APIs or the databases.
"""
