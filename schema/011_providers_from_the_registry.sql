-- Which providers a model may name is decided by the code's provider registry
-- (shared::providers::REGISTRY), checked when a model is created, so that adding a
-- provider is a folder and a registry line with no migration. The table keeps only the
-- shape of a name.
ALTER TABLE ai_models DROP CONSTRAINT IF EXISTS ai_models_provider_check;
ALTER TABLE ai_models ADD CONSTRAINT ai_models_provider_name CHECK (provider ~ '^[a-z][a-z0-9_]{0,63}$');
