// Compiled with `tsc -p test/tsconfig.json` (no output): the typed API as a TypeScript user
// writes it. A generated type that stops matching these uses fails the build.
import {
  CameraNotFoundError,
  ErrorCode,
  RpcError,
  connect,
  type ApiEvent,
  type EventOf,
  type TakeSnapshotResult,
} from "../../src/index.js";

export async function usage(url: string, jwt: string): Promise<void> {
  const cs = await connect(url, { token: jwt, reconnect: { maxDelayMs: 5000 } });
  const list = await cs.getCameraList();
  const first: string = list.cameras[0]!.device;
  const shot: TakeSnapshotResult = await cs.takeSnapshot({ device: first, format: "png" });
  const name: string = shot.filename;
  // @ts-expect-error: an unknown format is refused at compile time
  await cs.takeSnapshot({ device: first, format: "gif" });
  // @ts-expect-error: device is required
  await cs.takeSnapshot({});

  const snapshots = await cs.subscribe(["snapshot.taken"]);
  for await (const event of snapshots) {
    const topic: "snapshot.taken" = event.topic;
    const file: string = event.filename;
    void topic, file;
  }
  const cameras = await cs.subscribe(["camera.*"], { filters: { device: first } });
  cameras.on((event: EventOf<"camera.*">) => {
    // @ts-expect-error: a camera event is never snapshot.taken
    const never: "snapshot.taken" = event.topic;
    void never;
  });
  const all = await cs.subscribe(["*"]);
  all.on((event: ApiEvent) => void event.timestamp);

  try {
    await cs.getCameraStatus({ device: "camera9" });
  } catch (error) {
    if (error instanceof CameraNotFoundError) {
      const available: string[] = error.data.available ?? [];
      void available;
    } else if (error instanceof RpcError && error.code === ErrorCode.InsufficientPermissions) {
      void error.data;
    }
  }
  void name;
  await cs.close();
}
