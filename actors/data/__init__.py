"""Data files shipped with the actors: the instrument master and a sample tick file."""
