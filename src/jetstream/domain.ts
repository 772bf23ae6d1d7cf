/**
 * The subject mappings a JetStream domain adds (nats-server jetstream_api.go
 * generateJSMappingTable): `$JS.<domain>.API.<x>` reaches the local `$JS.API.<x>` for the API's
 * groups, and `$JS.<domain>.API.$KV.>` / `.$OBJ.>` reach `$KV.>` / `$OBJ.>`, so a client told the
 * domain (`jetstream({ domain })`, KV and object stores included) talks to this server. Anything
 * else under the domain prefix is not mapped and has no responders, as in nats-server.
 */
export function jsDomainMappings(domain: string): Array<[string, string]> {
  const p = `$JS.${domain}.API.`;
  return [
    [`${p}INFO`, "$JS.API.INFO"],
    ...["STREAM", "CONSUMER", "DIRECT", "META", "SERVER", "ACCOUNT"].map((g): [string, string] => [`${p}${g}.>`, `$JS.API.${g}.>`]),
    [`${p}$KV.>`, "$KV.>"],
    [`${p}$OBJ.>`, "$OBJ.>"],
  ];
}
