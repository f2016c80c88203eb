"""Investment-attraction CRM: the domain (tables, policy pack, services)."""
