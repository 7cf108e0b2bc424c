"""The engine: a small kernel that moves contacts through time."""
