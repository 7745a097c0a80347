"""Public feeds: CAP 1.2 messages per alert change, and Atom feeds of active alerts and of published bulletins."""
