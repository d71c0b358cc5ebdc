// @peculiar/x509 loads tsyringe, which refuses to start without the Reflect metadata API
// (normally the reflect-metadata package). It only reads and writes decorator metadata, so a
// WeakMap-backed implementation of the three functions it calls is enough, and saves a dependency.
type MetadataMap = Map<unknown, unknown>;
type Target = object;

const store = new WeakMap<Target, Map<string | symbol | undefined, MetadataMap>>();

function own(target: Target, property: string | symbol | undefined, create: boolean): MetadataMap | undefined {
  let byProperty = store.get(target);
  if (!byProperty) {
    if (!create) return undefined;
    byProperty = new Map();
    store.set(target, byProperty);
  }
  let map = byProperty.get(property);
  if (!map && create) {
    map = new Map();
    byProperty.set(property, map);
  }
  return map;
}

interface ReflectMetadata {
  defineMetadata(key: unknown, value: unknown, target: Target, property?: string | symbol): void;
  getOwnMetadata(key: unknown, target: Target, property?: string | symbol): unknown;
  getMetadata(key: unknown, target: Target, property?: string | symbol): unknown;
  metadata(key: unknown, value: unknown): (target: Target, property?: string | symbol) => void;
}

const reflect = Reflect as unknown as Partial<ReflectMetadata>;
if (typeof reflect.getMetadata !== 'function') {
  const api: ReflectMetadata = {
    defineMetadata(key, value, target, property) {
      own(target, property, true)!.set(key, value);
    },
    getOwnMetadata(key, target, property) {
      return own(target, property, false)?.get(key);
    },
    getMetadata(key, target, property) {
      for (let current: Target | null = target; current !== null; current = Object.getPrototypeOf(current) as Target | null) {
        const map = own(current, property, false);
        if (map?.has(key)) return map.get(key);
      }
      return undefined;
    },
    metadata(key, value) {
      return (target, property) => api.defineMetadata(key, value, target, property);
    },
  };
  Object.assign(Reflect, api);
}
