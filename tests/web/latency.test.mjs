// The latency instrument itself (scripts/bench e2e) must not break
// silently: a short run must give sane numbers. Speed is not asserted here.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup } from './harness.mjs';
import { desktop, measureFloor, measureMeshdesk, measureProtocolFloor, online, setup } from './bench/e2e.mjs';

after(cleanup);

test('the input-to-photon and first-frame measurement gives sane numbers', async () => {
  const { server, token, context, floor: pages } = await setup();
  const d = await desktop(server, token, 1280, 720);
  await online(server, token, d);
  const r = await measureMeshdesk(context, server, d, { loads: 2, samples: 10, bandwidth: false });
  const floor = await measureFloor(context, pages, 2);
  const protocol = await measureProtocolFloor(context, pages, server, d.deviceId, 2);
  await pages.close();
  const measured = {
    latency: r.input_to_photon_ms,
    first: r.page_load_to_first_frame_ms,
    first_in_tab: r.page_load_in_open_tab_ms,
    floor: floor.page_load_to_first_frame_ms,
    floor_in_tab: floor.page_load_in_open_tab_ms,
    protocol: protocol.page_load_to_first_frame_ms,
    protocol_in_tab: protocol.page_load_in_open_tab_ms,
  };
  for (const [name, s] of Object.entries(measured)) {
    assert.equal(s.lost, 0, `${name}: every sample completed`);
    for (const k of ['min', 'p50', 'p95', 'max']) {
      assert.ok(s[k] > 0 && s[k] < (name === 'latency' ? 1000 : 10000), `${name} ${k} = ${s[k]}`);
    }
  }
  console.log(JSON.stringify({ ...r, floor, protocol }));
});
