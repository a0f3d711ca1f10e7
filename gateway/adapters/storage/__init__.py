"""Storage adapters: the staging store and (later) the destination object stores."""
