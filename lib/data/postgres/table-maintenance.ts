/*
 * The one statistic of every Prefect database the exporters' standard metrics lack: per table, the
 * dead rows beside the live ones and the age of the last vacuum, which the bloat and autovacuum
 * alerts read (Prefect's database-maintenance guide). postgres_exporter (the StatefulSet provider)
 * and CloudNativePG's instance manager take the same query format; each names the metrics after
 * the query: pg_table_maintenance_<column>, cnpg_pg_table_maintenance_<column>.
 */

/** The query's name, the metrics' prefix. */
export const TABLE_MAINTENANCE_QUERY = 'pg_table_maintenance';

export interface TableMaintenanceQueryOptions {
  /**
   * The databases to run it in (CloudNativePG's `target_databases`); without them, the exporter
   * runs it wherever it connects (postgres_exporter with --auto-discover-databases: every one).
   */
  readonly targetDatabases?: readonly string[];
  /**
   * Only on the primary (CloudNativePG's `primary`): a replica's table statistics are its own, not
   * the tables' (vacuum runs on the primary).
   */
  readonly primaryOnly?: boolean;
}

/**
 * The query, as YAML. The twenty tables with the most dead rows per database keep the series few;
 * a table never vacuumed reports -1 seconds. Catalog functions are schema-qualified, so that no
 * object of a user's search_path stands in for them.
 */
export function tableMaintenanceQueries(options: TableMaintenanceQueryOptions = {}): string {
  const targets = options.targetDatabases;
  return `${TABLE_MAINTENANCE_QUERY}:
  query: |
    SELECT pg_catalog.current_database() AS datname, schemaname, relname,
           n_live_tup::float8 AS live_rows, n_dead_tup::float8 AS dead_rows,
           COALESCE(EXTRACT(EPOCH FROM pg_catalog.now() - GREATEST(last_autovacuum, last_vacuum)), -1)::float8 AS seconds_since_vacuum
    FROM pg_catalog.pg_stat_user_tables
    ORDER BY n_dead_tup DESC
    LIMIT 20
${options.primaryOnly ? '  primary: true\n' : ''}${targets ? `  target_databases: [${targets.map((database) => JSON.stringify(database)).join(', ')}]\n` : ''}  metrics:
    - datname: { usage: LABEL, description: The database }
    - schemaname: { usage: LABEL, description: The schema }
    - relname: { usage: LABEL, description: The table }
    - live_rows: { usage: GAUGE, description: Estimated live rows }
    - dead_rows: { usage: GAUGE, description: Estimated dead rows (bloat until vacuumed) }
    - seconds_since_vacuum: { usage: GAUGE, description: Seconds since the last vacuum or autovacuum; -1 if never }
`;
}
