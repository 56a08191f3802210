// Package deploy holds the deployment files and the test that keeps them
// honest.
//
// That is its one job; it has no Go API. The files: the image every role
// runs (Dockerfile, with Dockerfile.dockerignore), the caching proxy of the
// Compose stack (nginx/), MinIO's bucket, users and least-privilege policies
// (minio/), the Kubernetes manifests and the AWS IAM policies (k8s/), and
// README.md, which explains them. docker-compose.yml lives at the repository
// root. The test parses all of them, statically, with no Docker engine and
// no cluster, and checks what they promise: pinned images, a non-root static
// image, read-only credentials for the edges, probes, resources, a cache
// that honours the edges' Cache-Control, and no real secret anywhere.
//
// healthcheck/ is the container health probe the image carries, since the
// image has no shell and no curl.
package deploy
