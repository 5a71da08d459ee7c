-- The example target databases of the example config (dev, staging, production), created once
-- when the target-db container initialises its data directory.
--
-- Each belongs to a login role of its own: not a superuser, no CREATEROLE, CREATEDB or
-- BYPASSRLS, and no database but its own lets it connect (CONNECT is revoked from PUBLIC). A
-- migration deployed to one environment can change that environment's database only: it cannot
-- reach another's, nor run programs or read files on the server (COPY … PROGRAM and the like
-- need a superuser). The passwords come from the container's environment (psql 15's \getenv);
-- a missing one stops the initialisation.
\set ON_ERROR_STOP on
\getenv dev_password APP_DEV_PASSWORD
\getenv staging_password APP_STAGING_PASSWORD
\getenv production_password APP_PRODUCTION_PASSWORD

CREATE ROLE app_dev LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'dev_password';
CREATE ROLE app_staging LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'staging_password';
CREATE ROLE app_production LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'production_password';

CREATE DATABASE app_dev OWNER app_dev;
CREATE DATABASE app_staging OWNER app_staging;
CREATE DATABASE app_production OWNER app_production;

REVOKE CONNECT, TEMPORARY ON DATABASE app_dev, app_staging, app_production, postgres, template1 FROM PUBLIC;
