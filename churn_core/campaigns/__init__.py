"""Retention campaigns: a control group, outcomes recorded, and the effect measured instead of assumed."""
