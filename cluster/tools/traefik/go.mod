module provider-vdi/cluster/tools/traefik

// Traefik is not built: build.sh copies the IngressRoute CRD that the module
// ships, for the tests and `make run` to install.

go 1.26.0

require github.com/traefik/traefik/v3 v3.6.12
