// validate.mjs - checks clarion's Kubernetes manifests offline.
//
//   node tests/deploy/validate.mjs --modules DIR [--config CONFIG.yaml]
//        [--external Kind/name]... [--config-secret SECRET/KEY] MANIFEST...
//
// DIR is an npm prefix holding this directory's package.json dependencies
// (kubernetes-models, yaml); tests/integration/test_deploy.py installs them
// there with `npm ci`.  kubectl cannot validate without an API server, so
// the schemas come from kubernetes-models, which bundles the Kubernetes
// OpenAPI schemas: kinds, required fields and types.  Then the references
// between objects, which no schema sees:
//   - a Deployment's selector matches its pod template's labels;
//   - a Service selects the pods of exactly one Deployment, and each of its
//     targetPorts is a port of those pods' containers (by name or number);
//   - every probe's port is a port of its container;
//   - every volumeMount names a volume; Secrets, ConfigMaps and claims the
//     pods use exist in the files or are declared --external;
//   - the configuration file a container is told to read (`-c PATH`) lies
//     in a volume from the Secret and key --config-secret names;
//   - every object and pod carries the app.kubernetes.io labels;
//   - every container runs non-root, read-only, without privilege
//     escalation or capabilities, with seccomp RuntimeDefault, a writable
//     /tmp and memory requests and limits;
//   - with --config, clarion's configuration agrees with the manifests: the
//     database URL names a Service and port of the file and the user,
//     password and database of the PostgreSQL Secret; http_listen_addr and
//     introspection_addr are the container's ports, the probes use the
//     introspection port.
// Prints "ok: ..." or "FAIL: ..." per check and exits 1 on any failure.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve, posix } from "node:path";

const args = process.argv.slice(2);
let modules = null, configFile = null, configSecret = null;
const external = new Set(), files = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--modules") modules = args[++i];
  else if (a === "--config") configFile = args[++i];
  else if (a === "--external") external.add(args[++i]);
  else if (a === "--config-secret") configSecret = args[++i];
  else files.push(a);
}
if (!modules || files.length === 0) {
  console.error("usage: validate.mjs --modules DIR [--config FILE] [--external Kind/name]... [--config-secret SECRET/KEY] MANIFEST...");
  process.exit(2);
}
const require = createRequire(join(resolve(modules), "package.json"));
const YAML = require("yaml");

let failed = 0, passed = 0;
function check(cond, what) {
  if (cond) { passed++; console.log(`ok: ${what}`); }
  else { failed++; console.log(`FAIL: ${what}`); }
  return cond;
}

// --- schemas ----------------------------------------------------------------

const objects = [];
for (const file of files) {
  const docs = YAML.parseAllDocuments(readFileSync(file, "utf8"));
  for (const doc of docs) {
    if (doc.errors.length) { check(false, `${file}: YAML: ${doc.errors[0].message}`); continue; }
    const obj = doc.toJS();
    if (obj == null) continue;
    const where = `${file}: ${obj.kind}/${obj.metadata?.name}`;
    let mod;
    try { mod = require(`kubernetes-models/${obj.apiVersion}`); }
    catch { check(false, `${where}: unknown apiVersion ${obj.apiVersion}`); continue; }
    const Model = mod[obj.kind];
    if (!check(typeof Model === "function", `${where}: kind known in ${obj.apiVersion}`)) continue;
    try { new Model(obj).validate(); check(true, `${where}: schema`); }
    catch (e) { check(false, `${where}: schema: ${e.message}`); continue; }
    objects.push(obj);
  }
}

const byKind = (k) => objects.filter((o) => o.kind === k);
const find = (k, n) => objects.find((o) => o.kind === k && o.metadata.name === n);
const exists = (k, n) => !!find(k, n) || external.has(`${k}/${n}`);
const matches = (sel, labels) =>
  !!sel && Object.keys(sel).length > 0 &&
  Object.entries(sel).every(([k, v]) => labels?.[k] === v);

// --- labels -----------------------------------------------------------------

const LABELS = ["app.kubernetes.io/name", "app.kubernetes.io/instance",
  "app.kubernetes.io/component", "app.kubernetes.io/part-of",
  "app.kubernetes.io/managed-by"];
for (const o of objects) {
  const missing = LABELS.filter((l) => !o.metadata.labels?.[l]);
  check(missing.length === 0, `${o.kind}/${o.metadata.name}: labels ${LABELS.join(", ")}` +
    (missing.length ? ` (missing ${missing.join(", ")})` : ""));
}

// --- workloads ----------------------------------------------------------------

const workloads = objects.filter((o) => ["Deployment", "StatefulSet", "DaemonSet"].includes(o.kind));
function containerPort(c, port) {
  return (c.ports || []).find((p) => (typeof port === "number" ? p.containerPort === port : p.name === port));
}
function probePort(p) {
  return p?.httpGet?.port ?? p?.tcpSocket?.port ?? p?.grpc?.port;
}

for (const w of workloads) {
  const name = `${w.kind}/${w.metadata.name}`;
  const pod = w.spec.template;
  check(matches(w.spec.selector?.matchLabels, pod.metadata?.labels),
    `${name}: selector matches the pod template's labels`);
  const missing = LABELS.filter((l) => !pod.metadata?.labels?.[l]);
  check(missing.length === 0, `${name}: pod labels ${missing.length ? "missing " + missing.join(", ") : "complete"}`);
  const volumes = new Map((pod.spec.volumes || []).map((v) => [v.name, v]));
  for (const v of volumes.values()) {
    if (v.secret) check(exists("Secret", v.secret.secretName), `${name}: volume ${v.name}: Secret ${v.secret.secretName} exists`);
    if (v.configMap) check(exists("ConfigMap", v.configMap.name), `${name}: volume ${v.name}: ConfigMap ${v.configMap.name} exists`);
    if (v.persistentVolumeClaim) check(exists("PersistentVolumeClaim", v.persistentVolumeClaim.claimName),
      `${name}: volume ${v.name}: PersistentVolumeClaim ${v.persistentVolumeClaim.claimName} exists`);
  }
  const psc = pod.spec.securityContext || {};
  for (const c of pod.spec.containers) {
    const cn = `${name} container ${c.name}`;
    for (const m of c.volumeMounts || [])
      check(volumes.has(m.name), `${cn}: volumeMount ${m.name} names a volume`);
    for (const e of c.envFrom || []) {
      if (e.secretRef) check(exists("Secret", e.secretRef.name), `${cn}: envFrom Secret ${e.secretRef.name} exists`);
      if (e.configMapRef) check(exists("ConfigMap", e.configMapRef.name), `${cn}: envFrom ConfigMap ${e.configMapRef.name} exists`);
    }
    for (const kind of ["readinessProbe", "livenessProbe", "startupProbe"]) {
      const p = c[kind];
      if (!p) continue;
      const port = probePort(p);
      if (port !== undefined)
        check(!!containerPort(c, port), `${cn}: ${kind} port ${port} is a container port`);
    }
    check(!!c.readinessProbe, `${cn}: has a readinessProbe`);
    check(!!c.livenessProbe, `${cn}: has a livenessProbe`);
    // Hardening: the container's own settings, else the pod's.
    const sc = c.securityContext || {};
    const nonRoot = sc.runAsNonRoot ?? psc.runAsNonRoot;
    const uid = sc.runAsUser ?? psc.runAsUser;
    check(nonRoot === true && uid !== 0, `${cn}: runAsNonRoot`);
    check(sc.allowPrivilegeEscalation === false, `${cn}: allowPrivilegeEscalation false`);
    check(sc.readOnlyRootFilesystem === true, `${cn}: readOnlyRootFilesystem`);
    check((sc.capabilities?.drop || []).includes("ALL") && !(sc.capabilities?.add || []).length,
      `${cn}: capabilities drop ALL`);
    check((sc.seccompProfile?.type ?? psc.seccompProfile?.type) === "RuntimeDefault",
      `${cn}: seccomp RuntimeDefault`);
    if (sc.readOnlyRootFilesystem) {
      const tmp = (c.volumeMounts || []).find((m) => m.mountPath === "/tmp");
      check(!!tmp && !!volumes.get(tmp.name)?.emptyDir && !tmp.readOnly, `${cn}: a writable emptyDir at /tmp`);
    }
    check(!!c.resources?.requests?.memory && !!c.resources?.limits?.memory,
      `${cn}: memory requests and limits`);

    // The configuration file the program is told to read.
    const argv = [...(c.command || []), ...(c.args || [])];
    const ci = argv.findIndex((a) => a === "-c" || a === "--config");
    if (ci >= 0 && configSecret) {
      const path = argv[ci + 1] || "";
      const mount = (c.volumeMounts || []).find((m) => path.startsWith(m.mountPath.replace(/\/?$/, "/")));
      const [secret, key] = configSecret.split("/");
      let ok = false, why = "no volumeMount holds it";
      if (mount) {
        const v = volumes.get(mount.name);
        const rel = posix.relative(mount.mountPath, path);
        if (!v?.secret) why = `volume ${mount.name} is not a Secret`;
        else if (v.secret.secretName !== secret) why = `volume ${mount.name} is Secret ${v.secret.secretName}`;
        else {
          // With items only the listed keys appear, at their paths; without,
          // every key appears under its own name.
          const keyAt = v.secret.items ? v.secret.items.find((it) => it.path === rel)?.key : rel;
          ok = keyAt === key;
          why = keyAt ? `${path} is key ${keyAt}` : `${path} is no key of the Secret`;
        }
      }
      check(ok, `${cn}: reads ${path} from Secret ${secret} key ${key}` + (ok ? "" : ` (${why})`));
    }
  }
}

// --- services -----------------------------------------------------------------

for (const s of byKind("Service")) {
  const name = `Service/${s.metadata.name}`;
  const targets = workloads.filter((w) => matches(s.spec.selector, w.spec.template.metadata?.labels));
  if (!check(targets.length === 1, `${name}: selects the pods of exactly one workload` +
    ` (${targets.map((w) => w.metadata.name).join(", ") || "none"})`)) continue;
  const containers = targets[0].spec.template.spec.containers;
  for (const p of s.spec.ports) {
    const t = p.targetPort ?? p.port;
    check(containers.some((c) => containerPort(c, t)),
      `${name}: port ${p.name || p.port} targetPort ${t} is a port of ${targets[0].metadata.name}'s containers`);
    if (p.nodePort !== undefined)
      check(s.spec.type === "NodePort" || s.spec.type === "LoadBalancer", `${name}: nodePort ${p.nodePort} on a NodePort Service`);
  }
}

for (const b of byKind("PodDisruptionBudget")) {
  const targets = workloads.filter((w) => matches(b.spec.selector?.matchLabels, w.spec.template.metadata?.labels));
  check(targets.length === 1, `PodDisruptionBudget/${b.metadata.name}: selects one workload`);
}

// --- clarion's configuration against the manifests --------------------------

if (configFile) {
  const cfg = YAML.parse(readFileSync(configFile, "utf8"));
  const where = configFile;
  const url = (() => { try { return new URL(cfg.database); } catch { return null; } })();
  if (check(!!url && /^postgres(ql)?:$/.test(url.protocol), `${where}: database is a postgres:// URL`)) {
    const port = Number(url.port || 5432);
    const svc = find("Service", url.hostname);
    check(!!svc && svc.spec.ports.some((p) => p.port === port),
      `${where}: database host ${url.hostname}:${port} is a Service port of the manifests`);
    // The Secret the database pods take their environment from.
    const db = svc && workloads.find((w) => matches(svc.spec.selector, w.spec.template.metadata?.labels));
    const env = {};
    for (const c of db?.spec.template.spec.containers || [])
      for (const e of c.envFrom || [])
        if (e.secretRef) Object.assign(env, find("Secret", e.secretRef.name)?.stringData || {});
    check(env.POSTGRES_USER === decodeURIComponent(url.username) &&
      env.POSTGRES_PASSWORD === decodeURIComponent(url.password) &&
      env.POSTGRES_DB === url.pathname.replace(/^\//, ""),
      `${where}: database user, password and name are those of PostgreSQL's Secret`);
  }
  const portOf = (addr) => Number(String(addr ?? "").split(":").pop());
  const clarion = workloads.find((w) => w.spec.template.spec.containers.some((c) =>
    [...(c.command || []), ...(c.args || [])].includes("serve")));
  if (check(!!clarion, `${where}: a workload runs clarion serve`)) {
    const c = clarion.spec.template.spec.containers[0];
    check(!!containerPort(c, portOf(cfg.http_listen_addr)), `${where}: http_listen_addr ${cfg.http_listen_addr} is a container port`);
    const ip = portOf(cfg.introspection_addr);
    check(!!containerPort(c, ip), `${where}: introspection_addr ${cfg.introspection_addr} is a container port`);
    for (const kind of ["readinessProbe", "livenessProbe"]) {
      const pp = probePort(c[kind]);
      const cp = typeof pp === "number" ? pp : containerPort(c, pp)?.containerPort;
      check(cp === ip, `${where}: ${kind} uses introspection_addr's port`);
    }
    check(c.readinessProbe?.httpGet?.path === "/readyz" && c.livenessProbe?.httpGet?.path === "/healthz",
      `${where}: readiness /readyz, liveness /healthz`);
  }
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
