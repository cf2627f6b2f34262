"""PET: reference-tissue kinetic models and study-level paired analyses."""
