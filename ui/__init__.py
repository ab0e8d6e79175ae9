"""Streamlit-only helpers: translations, caching, formatting and shared widgets.

Pages import from here and from churn_core; churn_core never imports this package.
"""
