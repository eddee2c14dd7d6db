"""Plain-Python core of Mahnwerk: no Django imports here (checked by a test)."""
