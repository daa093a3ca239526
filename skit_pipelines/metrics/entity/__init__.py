"""Entity evaluation: first-entity and all-entities reports, span scores, categorical reports, HTML page."""
