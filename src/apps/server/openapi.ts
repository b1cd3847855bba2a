import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

/** The API description, generated from the controllers and DTOs (the code is the source). */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Archipelago')
    .setDescription(
      'HPC control plane: submit sbatch-style batch jobs to latency-bounded SLURM islands. ' +
        'Errors are application/problem+json (RFC 9457) and name the offending field.',
    )
    .setVersion('v1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'API key' })
    .build();
  return SwaggerModule.createDocument(app, config);
}
