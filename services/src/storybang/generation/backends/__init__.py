"""Model backends behind one interface, tried in order with fallback (see :mod:`.chain`)."""
