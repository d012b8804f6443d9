"""data layer of sagespark (see DESIGN.md section 2)."""
