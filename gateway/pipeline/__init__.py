"""Services that run stages against ports: screening now, the job runner next."""
