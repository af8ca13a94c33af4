#!/usr/bin/env bash
# Installs the Debian packages the tests and the AppHost run as real servers, when any is missing.
# As root it installs them; otherwise it names what to install and fails.
set -euo pipefail

# package → a program it provides (probing programs rather than package names also accepts Java and Node
# installed from elsewhere, as on the build image).
requirements=(
  "postgresql:/usr/lib/postgresql/*/bin/postgres"
  "mariadb-server:/usr/sbin/mariadbd"
  "redis-server:/usr/bin/redis-server"
  "redis-tools:/usr/bin/redis-cli"
  "mosquitto:/usr/sbin/mosquitto"
  "mosquitto-clients:/usr/bin/mosquitto_pub"
  "nginx:/usr/sbin/nginx"
  "prometheus:/usr/bin/prometheus"
  "chromium:/usr/bin/chromium"
  "default-jre-headless:java"
  "nodejs:node"
  "npm:npm"
)

missing=()
for requirement in "${requirements[@]}"; do
  package=${requirement%%:*}
  program=${requirement#*:}
  if [[ $program == /* ]]; then
    # shellcheck disable=SC2086 # the glob must expand
    compgen -G "$program" >/dev/null || missing+=("$package")
  else
    command -v "$program" >/dev/null 2>&1 || missing+=("$package")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing Debian packages: ${missing[*]}" >&2
    echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "Installing missing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Pub/Sub and Firestore emulators ship with the Google Cloud CLI, which is not a Debian package.
sdk_root=""
if command -v gcloud >/dev/null 2>&1; then
  sdk_root=$(dirname "$(dirname "$(readlink -f "$(command -v gcloud)")")")
fi
for component in platform/pubsub-emulator/bin/cloud-pubsub-emulator platform/cloud-firestore-emulator/cloud-firestore-emulator.jar; do
  if [ -z "$sdk_root" ] || [ ! -e "$sdk_root/$component" ]; then
    echo "The Google Cloud CLI emulator '$component' is missing: install the Google Cloud CLI with its" >&2
    echo "pubsub-emulator and cloud-firestore-emulator components (packages google-cloud-cli-pubsub-emulator," >&2
    echo "google-cloud-cli-firestore-emulator)." >&2
    exit 1
  fi
done
