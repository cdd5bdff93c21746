DROP TABLE jwt_keys;
