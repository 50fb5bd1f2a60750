"""Rules turn events into alerts; people review alerts."""
