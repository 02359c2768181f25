"""Form definitions (`*.form`, the @bpmn-io/form-js JSON schema) and the Jinja2 templates that render
them; `forms.schema` loads and validates submissions on the server from the same definition."""
