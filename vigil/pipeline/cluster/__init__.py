"""Cameras across machines on Ray: the cluster runner (runner.py), its placement by
measured cost (placement.py), the camera actor (host.py), the detector pool (pool.py) and
the supervisor that restarts a lost node's cameras elsewhere (supervisor.py)."""
