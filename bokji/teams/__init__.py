"""Teams of an office (members, a lead, the services they take) and substitutes for absent staff."""
