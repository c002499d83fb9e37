"""Autoscaling: the rules that turn triggers into a desired capacity, and member choice."""
