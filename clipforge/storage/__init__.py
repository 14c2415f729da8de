"""State: SQLAlchemy tables and the small repository the pipeline uses."""
