-- The example target databases of the example config (dev, staging, production), created
-- once when the target-db container initialises its data directory.
CREATE DATABASE app_dev;
CREATE DATABASE app_staging;
CREATE DATABASE app_production;
