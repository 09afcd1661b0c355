DROP TABLE sync_restores;
