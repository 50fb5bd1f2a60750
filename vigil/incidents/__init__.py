"""Units in the field, their positions, incidents and dispatch (see units.py, incidents.py)."""
