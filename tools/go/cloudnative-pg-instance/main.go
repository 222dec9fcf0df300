// cloudnative-pg-instance runs pieces of CloudNativePG's instance manager, from the operator's
// own Go module at the version go.mod pins, against a PostgreSQL server the tests start, so that
// what the project generates for a Cluster meets the code that reads it in a real instance:
//
//	names --cluster FILE
//	    prints, as JSON, the names the operator derives from the Cluster that the output refers
//	    to: the server CA's Secret, the read-write Service, the exporter's role and the database
//	    its default queries run in;
//	instance-pod --cluster FILE
//	    prints, as JSON, the Pod the operator creates for the Cluster's first instance (the
//	    Cluster's defaults applied, as its webhook applies them, and its inherited metadata, as
//	    its controller applies it with the operator's default configuration; no plugin's changes);
//	hba --cluster FILE --user NAME --out DIR
//	    writes pg_hba.conf and pg_ident.conf as the instance manager renders them from the
//	    Cluster's spec.postgresql.pg_hba and pg_ident (its fixed rules first);
//	setup-role
//	    creates the exporter's role cnpg_metrics_exporter as the instance manager does at start
//	    (connecting as postgres over the socket of PGHOST and PGPORT);
//	metrics --cluster FILE --pgdata DIR --listen ADDRESS --queries FILE[,FILE…]
//	    serves the instance's exporter on ADDRESS/metrics: CloudNativePG's built-in collector and
//	    default queries, and the query files given (its default-monitoring ConfigMap's queries,
//	    the Cluster's custom queries), logging in as cnpg_metrics_exporter over the socket. It
//	    also answers the instance manager's local cache with the Cluster, as the instance
//	    manager does on localhost:8010, where the exporter reads it. Plugins are not run.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	apiv1 "github.com/cloudnative-pg/cloudnative-pg/api/v1"
	"github.com/cloudnative-pg/cloudnative-pg/pkg/management/postgres"
	m "github.com/cloudnative-pg/cloudnative-pg/pkg/management/postgres/metrics"
	"github.com/cloudnative-pg/cloudnative-pg/pkg/management/postgres/webserver/metricserver"
	"github.com/cloudnative-pg/cloudnative-pg/pkg/management/url"
	pgconf "github.com/cloudnative-pg/cloudnative-pg/pkg/postgres"
	"github.com/cloudnative-pg/cloudnative-pg/pkg/specs"
	"github.com/cloudnative-pg/cloudnative-pg/pkg/utils"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	if len(os.Args) < 2 {
		fail(errors.New("usage: cloudnative-pg-instance names|instance-pod|hba|setup-role|metrics [flags]"))
	}
	var err error
	switch os.Args[1] {
	case "names":
		err = names(os.Args[2:])
	case "instance-pod":
		err = instancePod(os.Args[2:])
	case "hba":
		err = hba(os.Args[2:])
	case "setup-role":
		err = setupRole()
	case "metrics":
		err = metrics(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "cloudnative-pg-instance:", err)
	os.Exit(1)
}

func readCluster(file string) (*apiv1.Cluster, []byte, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, err
	}
	cluster := &apiv1.Cluster{}
	decoder := json.NewDecoder(strings.NewReader(string(data)))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(cluster); err != nil {
		return nil, nil, fmt.Errorf("%s is not a Cluster of this CloudNativePG version: %w", file, err)
	}
	return cluster, data, nil
}

func names(args []string) error {
	flags := flag.NewFlagSet("names", flag.ExitOnError)
	clusterFile := flags.String("cluster", "", "the Cluster, as JSON")
	_ = flags.Parse(args)
	cluster, _, err := readCluster(*clusterFile)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]string{
		"serverCASecret":      cluster.GetServerCASecretName(),
		"readWriteService":    cluster.GetServiceReadWriteName(),
		"metricsRole":         apiv1.MetricsExporterUserName,
		"applicationDatabase": cluster.GetApplicationDatabaseName(),
	})
}

func instancePod(args []string) error {
	flags := flag.NewFlagSet("instance-pod", flag.ExitOnError)
	clusterFile := flags.String("cluster", "", "the Cluster, as JSON")
	_ = flags.Parse(args)
	cluster, _, err := readCluster(*clusterFile)
	if err != nil {
		return err
	}
	cluster.SetDefaults()
	pod, err := specs.NewInstance(context.Background(), *cluster, 1, true)
	if err != nil {
		return err
	}
	utils.InheritAnnotations(&pod.ObjectMeta, cluster.Annotations, cluster.GetFixedInheritedAnnotations(), inheritNothing{})
	utils.InheritLabels(&pod.ObjectMeta, cluster.Labels, cluster.GetFixedInheritedLabels(), inheritNothing{})
	return json.NewEncoder(os.Stdout).Encode(pod)
}

// inheritNothing: the operator's default configuration, which passes none of the Cluster's own
// labels and annotations to its pods (INHERITED_LABELS and INHERITED_ANNOTATIONS unset).
type inheritNothing struct{}

func (inheritNothing) IsAnnotationInherited(string) bool { return false }
func (inheritNothing) IsLabelInherited(string) bool      { return false }

func hba(args []string) error {
	flags := flag.NewFlagSet("hba", flag.ExitOnError)
	clusterFile := flags.String("cluster", "", "the Cluster, as JSON")
	user := flags.String("user", "postgres", "the operating-system user PostgreSQL runs as")
	out := flags.String("out", ".", "where to write pg_hba.conf and pg_ident.conf")
	_ = flags.Parse(args)
	cluster, _, err := readCluster(*clusterFile)
	if err != nil {
		return err
	}
	var hbaLines, identLines []string
	if cluster.Spec.PostgresConfiguration.PgHBA != nil {
		hbaLines = cluster.Spec.PostgresConfiguration.PgHBA
	}
	if cluster.Spec.PostgresConfiguration.PgIdent != nil {
		identLines = cluster.Spec.PostgresConfiguration.PgIdent
	}
	hbaText, err := pgconf.CreateHBARules(hbaLines, pgconf.HBAOptions{DefaultAuthenticationMethod: "scram-sha-256"})
	if err != nil {
		return err
	}
	identText, err := pgconf.CreateIdentRules(identLines, *user)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, "pg_hba.conf"), []byte(hbaText), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(*out, "pg_ident.conf"), []byte(identText), 0o600)
}

func setupRole() error {
	db, err := postgres.NewInstance().GetSuperUserDB()
	if err != nil {
		return err
	}
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := postgres.SetupMetricsExporterRole(ctx, tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// noPlugins: the plugins' metrics come from their own processes, which do not run here.
type noPlugins struct{}

func (noPlugins) Collect(context.Context, chan<- prometheus.Metric, *apiv1.Cluster) error { return nil }
func (noPlugins) Describe(context.Context, chan<- *prometheus.Desc, *apiv1.Cluster)       {}

func metrics(args []string) error {
	flags := flag.NewFlagSet("metrics", flag.ExitOnError)
	clusterFile := flags.String("cluster", "", "the Cluster, as JSON")
	pgData := flags.String("pgdata", "", "the server's data directory")
	listen := flags.String("listen", "127.0.0.1:9187", "where to serve /metrics")
	queryFiles := flags.String("queries", "", "query files, comma-separated")
	_ = flags.Parse(args)
	cluster, clusterJSON, err := readCluster(*clusterFile)
	if err != nil {
		return err
	}

	// The instance manager's local cache, where the exporter reads the Cluster.
	cache := http.NewServeMux()
	cache.HandleFunc(url.PathCache, func(w http.ResponseWriter, r *http.Request) {
		if strings.TrimPrefix(r.URL.Path, url.PathCache) != "cluster" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(clusterJSON)
	})
	cacheListener, err := net.Listen("tcp", fmt.Sprintf("localhost:%d", url.LocalPort))
	if err != nil {
		return fmt.Errorf("the instance manager's local port: %w", err)
	}
	go func() { _ = http.Serve(cacheListener, cache) }()

	instance := postgres.NewInstance().
		WithNamespace(cluster.Namespace).
		WithClusterName(cluster.Name).
		WithPodName(cluster.Name + "-1")
	instance.PgData = *pgData

	queries := m.NewQueriesCollector("cnpg", instance, cluster.GetApplicationDatabaseName())
	queries.InjectUserQueries(metricserver.DefaultQueries)
	for _, file := range strings.Split(*queryFiles, ",") {
		if file == "" {
			continue
		}
		content, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		if err := queries.ParseQueries(content); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
	}
	// Registered before its queries are set, in the instance manager's order: the registry asks a
	// collector to describe itself once, when it registers, and label columns have no descriptor.
	exporter := metricserver.NewExporter(instance, noPlugins{})
	registry := prometheus.NewRegistry()
	if err := registry.Register(exporter); err != nil {
		return err
	}
	exporter.SetCustomQueries(queries)
	mux := http.NewServeMux()
	mux.Handle(url.PathMetrics, promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	server := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return server.ListenAndServe()
}
