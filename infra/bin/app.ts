#!/usr/bin/env node
// `cdk synth|deploy -c env=dev|staging|prod`; cdk-nag findings without a justified suppression fail synth.
import { createPipelineApp } from '../app.ts';

const { app } = createPipelineApp({ nag: true });
app.synth();
