"""Immunisation registry (`cdc`): the newborn's vaccination record (XML)."""
