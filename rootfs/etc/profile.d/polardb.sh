# Login shells in the PolarDB images (docker exec -it ... bash -l) find the engine and the data.
export PATH=/u01/polardb_pg/bin:$PATH
export PGDATA=${PGDATA:-/data}
export POLARRUN_RUNBOOKS=${POLARRUN_RUNBOOKS:-/usr/local/share/polarrun/runbooks}
