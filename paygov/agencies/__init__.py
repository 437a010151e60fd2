"""Agencies: the organisations whose portals charge fees through PayGov."""
