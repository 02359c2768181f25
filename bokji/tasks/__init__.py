"""Human tasks: the caseworker's work items, their forms, claiming and completion."""
