import { writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { generateOpenApiDocument, serializeOpenApi } from '../src/openapi-document.js'

/** npm run openapi: regenerates openapi/openapi.json from the code (commit the result). */
const target = fileURLToPath(new URL('../openapi/openapi.json', import.meta.url))
await writeFile(target, serializeOpenApi(await generateOpenApiDocument()))
console.log(`wrote ${target}`)
