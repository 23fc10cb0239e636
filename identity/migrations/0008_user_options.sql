-- Keystone's user options (keystone/identity/backends/resource_options.py):
-- the options set on a user, as the JSON object the API shows under
-- "options" (Keystone keeps one user_option row per option; an option
-- removed with null is absent from the object).
ALTER TABLE identity_users ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
