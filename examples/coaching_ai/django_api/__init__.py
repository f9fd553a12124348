"""The coaching REST API (Django): JWT login, profile, workouts, dashboard, on PostgreSQL."""
